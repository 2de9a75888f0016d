"""coscale: validate psychometric scales used in co-production research.

The Python API mirrors the command line::

    import coscale
    result = coscale.validate(dataframe, "coproduction")

Heavy modules (pandas, SciPy) are imported lazily so that ``coscale --help``
stays fast.
"""

__version__ = "0.1.0"

__all__ = ["validate", "invariance", "load_scales", "__version__"]


def __getattr__(name):  # PEP 562: lazy public API
    if name in ("validate", "invariance"):
        from coscale import api

        return getattr(api, name)
    if name == "load_scales":
        from coscale.scales import load_scales

        return load_scales
    raise AttributeError(f"module 'coscale' has no attribute {name!r}")
