"""site: `envgen site`, a static install selector for every release, generated from the matrix.

Owns: the site's data (`data.py`: every cell of the matrix answered by `envgen command`'s own functions, the
refusal for each choice that does not exist, per-build driver floors and GPU architectures for the "what runs on
my machine" filter), the HTML pages (`pages.py`), writing the site (`build.py`) and its static assets
(`assets/`: one stylesheet, one script that ports `envgen.matrix.compat.judge` to the browser).
Data: Matrix -compile_site-> site data -render-> index.html, releases/<version>.html, sources.html, data.js.
May import: `envgen.compile`, `envgen.matrix` and the shared leaves. Never another capability or the CLI.
Public names: `data.compile_site` / `ask` / `Cell`, `build.build_site`.
"""
