"""What a run concludes.

The verdict rule, the typed summary and its loader, waivers, the report directory, the report files and the
seal.
"""
