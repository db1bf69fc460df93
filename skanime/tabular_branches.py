"""Tabular branches chosen by name: from the tabular block to a hidden vector.

``HybridAnimeRegressor(module__tabular_branch="tabm")`` picks one (grid-searchable
like any ``module__`` parameter). A builder takes the width of the tabular block and
``hidden_units``, ``n_layers``, ``dropout`` (plus the branch's own options, from
``module__tabular_options``) and returns an ``nn.Module`` with an ``out_features``
attribute mapping ``(b, n_in)`` to ``(b, out_features)``. Built-ins: ``mlp`` (the
paper's dense layers, the default) and ``tabm`` (TabM-mini). Other packages add
branches through the entry-point group ``skanime.tabular_branches``, as for
backbones (see ``docs/backbone_plugins.md``).
"""

from ._branches import (
    TABULAR_BRANCHES,
    MLPBranch,
    TabMBranch,
    UnknownTabularBranchError,
    get_tabular_branch,
    list_tabular_branches,
    register_tabular_branch,
)

__all__ = [
    "TABULAR_BRANCHES",
    "MLPBranch",
    "TabMBranch",
    "UnknownTabularBranchError",
    "get_tabular_branch",
    "list_tabular_branches",
    "register_tabular_branch",
]
