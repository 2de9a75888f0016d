"""Bundled scale definitions (YAML), shipped as coscale.bundled_scales."""
