"""citebot's command-line apps: the `citebot` command, evaluation and the benchmark."""
