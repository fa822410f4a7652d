"""The benchmark suite.

Flip under load, proxy overhead, deploy overhead, controller API.
"""
