"""``skanime train --role NAME=ROLE``: the model's column parameters with the
roles given by name in place of those it would infer or was given."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ._estimator import HybridAnimeRegressor
from ._roles import _IDENTIFIER_LIKE
from ._utils import name_key
from ._validation import _column_hint
from .exceptions import ColumnError

#: The column parameter of :class:`HybridAnimeRegressor` of each role
#: ``--role`` gives (and ``ignored``); the poster column has options of its own.
_PARAMS = {
    role: param
    for param, role in HybridAnimeRegressor._ROLE_PARAMS.items()
    if role != "poster"
}
#: What to do instead of moving the poster column with ``--role``.
_POSTER = "the poster column is chosen with --poster-column (none: --no-posters)"


def _column_of(name: str, columns: list[str]) -> str:
    """The column of ``columns`` that ``name`` names: as written, else the one
    column written in another case or spacing (``episodes`` for ``Episodes``)."""
    if name in columns:
        return name
    alike = [c for c in columns if name_key(c) == name_key(name)]
    if len(alike) == 1:
        return alike[0]
    raise ColumnError(
        f"--role {name!r}: the table as read has no such column"
        f"{_column_hint(name, columns)}; it has {columns}. A column of the file's "
        "own is read with --columns auto."
    )


def role_params(
    model, X: pd.DataFrame, y: pd.Series, overrides: Sequence
) -> tuple[dict, str]:
    """The column parameters of ``model`` that give each ``(name, role)`` of
    ``overrides`` its role on the table ``X`` (scores ``y``), the other columns
    keeping the roles the model would give them, and a sentence that says
    which roles changed from what.

    A parameter is returned only where its role gains or loses a column; it is
    then the complete list of that role's columns, as an explicit parameter is
    (:func:`~skanime.infer_column_roles`). Where the numeric columns become a
    list, the date and duration columns are named too, as a numeric list
    would turn their roles off.

    Raises
    ------
    ColumnError
        If a name is not a column of ``X``, is the scores' column, is given two
        roles, or names the poster column.

    Examples
    --------
    >>> import pandas as pd
    >>> from skanime import HybridAnimeRegressor
    >>> X = pd.DataFrame({"Type": ["TV", "Movie"] * 15, "Hype": range(30),
    ...                   "Score": [7.0, 8.0] * 15})
    >>> params, said = role_params(
    ...     HybridAnimeRegressor(), X, X["Score"], [("Hype", "numeric")]
    ... )
    >>> params
    {'numeric_columns': ['Hype']}
    >>> print(said)  # doctest: +NORMALIZE_WHITESPACE
    Roles given by --role: Hype numeric, not ignored (identifier-like: a
    distinct integer in every row).
    """
    columns = [str(c) for c in X.columns]
    wanted: dict[str, str] = {}
    for name, role in overrides:
        column = _column_of(name, columns)
        if column == str(y.name):
            raise ColumnError(
                f"--role {name!r}: {column!r} holds the scores to predict, never "
                "an input."
            )
        if wanted.get(column, role) != role:
            raise ColumnError(
                f"--role {name!r}: {column!r} is given two roles, "
                f"{wanted[column]} and {role}."
            )
        wanted[column] = role
    # the roles before --role: every column may be ignored (a table whose one
    # input is a count of its own)
    roles = model._resolve_roles(X, y, check=False)
    for column, role in wanted.items():
        if roles.role_of(column) == "poster":
            raise ColumnError(
                f"--role {column}={role}: {column!r} is the poster column, which "
                f"--role does not change; {_POSTER}."
            )
    moved = set(wanted.values()) | {roles.role_of(c) for c in wanted}
    params = {
        param: [
            *(c for c in roles[role] if c not in wanted),
            *(c for c, r in wanted.items() if r == role),
        ]
        for role, param in _PARAMS.items()
        if role in moved
    }
    if "numeric_columns" in params:  # a numeric list turns "auto" dates off
        for role in ("date", "duration"):
            param = _PARAMS[role]
            if roles[role] and param not in params:
                params[param] = list(roles[role])
    changes = []
    for column, role in wanted.items():
        now = roles.role_of(column)
        if now == role:
            changes.append(f"{column} {role}, as it was")
        elif now == "ignored":
            changes.append(f"{column} {role}, not ignored ({roles.reasons[column]})")
        else:
            changes.append(f"{column} {role}, not {now}")
    return params, "Roles given by --role: " + "; ".join(changes) + "."


def _role_for(why: str) -> str:
    """The role to suggest for a column ignored as identifier-like for
    ``why``: a count's (a distinct integer in every row) numeric, a code's
    (an integer named *id, a studio's id) categorical, text's text."""
    if "named *id" in why:
        return "categorical"
    return "numeric" if "integer" in why else "text"


def identifier_like_words(model, X: pd.DataFrame, y: pd.Series) -> str:
    """A sentence for each column ``model`` ignores on ``X`` as
    identifier-like (judged by their content, not known by name), each with the
    ``--role`` that would use it; empty where there are none.

    Raises
    ------
    ColumnError
        Where ``model`` uses no column of ``X``, saying so in the command's
        words: those sentences, or that ``--role`` gives a column a role.

    Examples
    --------
    >>> import pandas as pd
    >>> from skanime import HybridAnimeRegressor
    >>> table = pd.DataFrame({"Type": ["TV", "Movie"] * 15,
    ...                       "studio_id": [4, 7, 9] * 10, "Score": [7.5] * 30})
    >>> model = HybridAnimeRegressor()
    >>> print(identifier_like_words(model, table, table["Score"]))
    ... # doctest: +NORMALIZE_WHITESPACE
    studio_id is ignored as identifier-like (an integer column named *id):
    --role studio_id=categorical uses it.
    """
    roles = model._resolve_roles(X, y, check=False)
    ignored = roles.ignored
    alike = {c: why for c, why in ignored.items() if why.startswith(_IDENTIFIER_LIKE)}
    said = [
        f"{column} is ignored as identifier-like "
        f"({why.removeprefix(_IDENTIFIER_LIKE)}): --role {column}="
        f"{_role_for(why)} uses it."
        for column, why in alike.items()
    ]
    if not roles.used:
        raise ColumnError(
            f"No column of the table can be used: every column is ignored "
            f"({ignored}). "
            + (" ".join(said) or "--role NAME=ROLE gives a column a role.")
        )
    return " ".join(said)
