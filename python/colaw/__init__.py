from ._colaw import __version__
