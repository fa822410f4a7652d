"""Fault mechanisms: one module per way of breaking things."""
