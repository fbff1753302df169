"""Renderers: one module per output format. They never touch the network."""
