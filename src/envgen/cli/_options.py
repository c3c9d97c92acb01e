"""The typer options the command modules share: the selection flags of env, command and lock, and the rest."""

from __future__ import annotations

import typer

MATRIX_DIR_OPTION = typer.Option(None, "--matrix-dir", help="Use the matrix in DIR instead of the bundled one.",
                                 metavar="DIR", envvar="ENVGEN_MATRIX_DIR")
JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")

# the selection flags shared by env, command and lock (see envgen.compile.selection.build_requests)
TORCH_OPTION = typer.Option(None, "--torch", help="torch version, e.g. 1.8.1 (default: newest)")
CUDA_OPTION = typer.Option(None, "--cuda", help="CUDA version: 10.2, cu102 or auto (detect this machine)")
ROCM_OPTION = typer.Option(None, "--rocm", help="ROCm version, e.g. 5.7")
CPU_OPTION = typer.Option(False, "--cpu", help="the CPU build")
XPU_OPTION = typer.Option(False, "--xpu", help="the Intel XPU build")
PLATFORMS_OPTION = typer.Option(None, "--platform", help="conda subdir (default: this machine); repeat for several")
INSTALLER_OPTION = typer.Option(None, "--installer", help="conda, pip or both (default: both)")
CHANNEL_OPTION = typer.Option(None, "--channel",
                              help="pytorch, conda-forge, peterjc123, pytorch-index or pypi (implies the installer)")
PYTHON_OPTION = typer.Option(None, "--python", help="Python version (default: the newest with binaries)")
MIRROR_OPTION = typer.Option(None, "--mirror", metavar="FROM=TO",
                             help="Download FROM (a channel or index URL prefix) from TO; repeatable. "
                                  "Also ENVGEN_MIRRORS and mirrors.toml.")
OFFLINE_OPTION = typer.Option(False, "--offline", help="Use cached repodata and index pages only.")
WITH_OPTION = typer.Option(None, "--with", help="companions, e.g. torchvision,torchaudio (default: both)")
