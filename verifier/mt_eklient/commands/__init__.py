"""`mtk` command groups, each with `register(subparsers)`."""
