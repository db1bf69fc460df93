"""AniList's media records in MyAnimeList's columns and words, for ``load_mal``.

AniList's GraphQL API names its fields otherwise (``format``, ``averageScore``,
``studios.nodes``) and writes its values as constants (``TV_SHORT``,
``LIGHT_NOVEL``). A model trained on MyAnimeList's table reads an AniList
record through :func:`mal_record`, which gives it the MyAnimeList column names
and, where the two sites name a value otherwise, MyAnimeList's word.
"""

from __future__ import annotations

from typing import Any

#: AniList's ``format`` as MyAnimeList's ``Type`` (MyAnimeList files short TV
#: series as TV).
FORMATS = {
    "TV": "TV",
    "TV_SHORT": "TV",
    "MOVIE": "Movie",
    "SPECIAL": "Special",
    "OVA": "OVA",
    "ONA": "ONA",
    "MUSIC": "Music",
}
#: AniList's ``source`` as MyAnimeList's ``Source``; the sources MyAnimeList has
#: no word for are its "Other".
SOURCES = {
    "ORIGINAL": "Original",
    "MANGA": "Manga",
    "LIGHT_NOVEL": "Light novel",
    "VISUAL_NOVEL": "Visual novel",
    "VIDEO_GAME": "Game",
    "GAME": "Game",
    "NOVEL": "Novel",
    "WEB_NOVEL": "Web novel",
    "PICTURE_BOOK": "Picture book",
    "MULTIMEDIA_PROJECT": "Mixed media",
    "OTHER": "Other",
    "ANIME": "Other",
    "COMIC": "Other",
    "DOUJINSHI": "Other",
    "LIVE_ACTION": "Other",
}
#: AniList's ``status`` as MyAnimeList's ``Status``.
STATUSES = {
    "FINISHED": "Finished Airing",
    "RELEASING": "Currently Airing",
    "NOT_YET_RELEASED": "Not yet aired",
}
#: AniList's genres that MyAnimeList files as themes.
THEME_GENRES = frozenset({"Mahou Shoujo", "Mecha", "Music", "Psychological"})
#: AniList's genres and tags that MyAnimeList names otherwise.
LABELS = {
    "Thriller": "Suspense",
    "Cute Girls Doing Cute Things": "CGDCT",
    "Love Triangle": "Love Polygon",
    "Video Games": "Video Game",
    "Anthropomorphism": "Anthropomorphic",
    "Medicine": "Medical",
}
#: The least relevance (AniList's ``rank``, 0 to 100) of a tag read as a
#: theme: MyAnimeList gives an anime its few main themes, AniList every tag
#: its users voted for.
TAG_RANK = 60
#: Fields only AniList's records have: a record with one of them is AniList's.
_ANILIST_FIELDS = frozenset(
    {"idMal", "averageScore", "meanScore", "coverImage", "startDate", "seasonYear"}
)
#: The fields of AniList's ``Media`` type (its GraphQL schema): a record's key
#: outside them is a column its user added (``poster``, ``Rating``), kept as
#: it is.
MEDIA_FIELDS = frozenset(
    {
        "id", "idMal", "title", "type", "format", "status", "description",
        "startDate", "endDate", "season", "seasonYear", "seasonInt", "episodes",
        "duration", "chapters", "volumes", "countryOfOrigin", "isLicensed",
        "source", "hashtag", "trailer", "updatedAt", "coverImage", "bannerImage",
        "genres", "synonyms", "averageScore", "meanScore", "popularity",
        "isLocked", "trending", "favourites", "tags", "relations", "characters",
        "staff", "studios", "isFavourite", "isFavouriteBlocked", "isAdult",
        "nextAiringEpisode", "airingSchedule", "trends", "externalLinks",
        "streamingEpisodes", "rankings", "mediaListEntry", "reviews",
        "recommendations", "stats", "siteUrl", "autoCreateForumThread",
        "isRecommendationBlocked", "isReviewBlocked", "modNotes",
    }
)  # fmt: skip


def is_anilist_record(record: dict[str, Any]) -> bool:
    """Whether ``record`` is one of AniList's media: its title is an object
    (``{"romaji": ..., "english": ...}``), or it has a field only AniList's
    records have (``idMal``, ``averageScore``, ``coverImage``, ...)."""
    return isinstance(record.get("title"), dict) or not _ANILIST_FIELDS.isdisjoint(
        record
    )


def mal_record(media: dict[str, Any]) -> dict[str, Any]:
    """One of AniList's media records in :func:`~skanime.datasets.load_mal`'s
    columns, with MyAnimeList's words for its type, source, status, genres
    and themes.

    ``Score`` is AniList's ``averageScore`` (out of 100) divided by 10: the
    score of AniList's users, on MyAnimeList's scale. ``Title`` is the romaji
    title (MyAnimeList's), else the English one; ``anime_id`` is ``idMal``;
    ``image_url`` the large cover. Genres that MyAnimeList files as themes
    (``Mecha``, ``Psychological``, ...) go to ``Themes`` with the tags ranked
    :data:`TAG_RANK` or more that are not spoilers; animation studios go to
    ``Studios`` and the others to ``Producers``. AniList's other fields
    (``popularity``, ``favourites``, ...) are left out; a key that is none of
    AniList's (:data:`MEDIA_FIELDS`), such as a ``poster`` or ``Rating`` its
    user added, is kept as it is.

    Examples
    --------
    >>> from skanime.datasets._anilist import mal_record
    >>> record = mal_record({
    ...     "idMal": 5114,
    ...     "title": {"romaji": "Hagane no Renkinjutsushi", "english": "FMA"},
    ...     "format": "TV", "source": "MANGA", "episodes": 64, "duration": 24,
    ...     "genres": ["Action", "Mecha"], "averageScore": 90,
    ...     "startDate": {"year": 2009, "month": 4, "day": 5},
    ...     "studios": {"nodes": [
    ...         {"name": "bones", "isAnimationStudio": True},
    ...         {"name": "Aniplex", "isAnimationStudio": False},
    ...     ]},
    ... })
    >>> record["Type"], record["Source"], record["Score"], record["Aired"]
    ('TV', 'Manga', 9.0, '2009-04-05')
    >>> record["Genres"], record["Themes"], record["Studios"], record["Producers"]
    (['Action'], ['Mecha'], ['bones'], ['Aniplex'])
    >>> mal_record({"idMal": 1, "popularity": 90, "poster": "1.jpg"})
    {'anime_id': 1, 'poster': '1.jpg'}
    """
    title = media.get("title")
    if isinstance(title, dict):
        title = title.get("romaji") or title.get("english") or title.get("native")
    genres = [LABELS.get(g, g) for g in media.get("genres") or [] if g]
    themes = [g for g in genres if g in THEME_GENRES] + _tag_themes(media)
    studios, producers = _companies(media.get("studios"))
    record = {
        "anime_id": media.get("idMal"),
        "Title": title,
        "Type": _word(media.get("format"), FORMATS),
        "Source": _word(media.get("source"), SOURCES),
        "Status": _word(media.get("status"), STATUSES),
        "Episodes": media.get("episodes"),
        "Duration": (
            f"{media['duration']} min. per ep."
            if isinstance(media.get("duration"), int | float)
            else None
        ),
        "Aired": _start_date(media.get("startDate")),
        "Premiered": _premiered(media.get("season"), media.get("seasonYear")),
        "Genres": [g for g in genres if g not in THEME_GENRES],
        "Themes": list(dict.fromkeys(themes)),
        "Studios": studios,
        "Producers": producers,
        "Score": (
            media["averageScore"] / 10
            if isinstance(media.get("averageScore"), int | float)
            else None
        ),
        "image_url": _cover(media.get("coverImage")),
    }
    given = _given(media)
    added = {key: media[key] for key in media if key not in MEDIA_FIELDS}
    return {
        **{key: value for key, value in record.items() if key in given},
        **{key: value for key, value in added.items() if key not in given},
    }


def _given(media: dict[str, Any]) -> set[str]:
    """The columns of :func:`mal_record` that ``media``'s fields give: a
    column the query did not ask for stays absent (``load_mal`` then fills
    it, or leaves it out), rather than empty."""
    fields = {
        "anime_id": "idMal",
        "Title": "title",
        "Type": "format",
        "Source": "source",
        "Status": "status",
        "Episodes": "episodes",
        "Duration": "duration",
        "Aired": "startDate",
        "Premiered": "season",
        "Genres": "genres",
        "Themes": ("genres", "tags"),
        "Studios": "studios",
        "Producers": "studios",
        "Score": "averageScore",
        "image_url": "coverImage",
    }
    return {
        column
        for column, field in fields.items()
        if any(f in media for f in ((field,) if isinstance(field, str) else field))
    }


def _word(value, words: dict[str, str]):
    """MyAnimeList's word for one of AniList's constants; a constant it has
    none for as words (``"CANCELLED"`` as ``"Cancelled"``)."""
    if not isinstance(value, str):
        return None
    return words.get(value, value.replace("_", " ").capitalize())


def _tag_themes(media: dict[str, Any]) -> list[str]:
    """The names of ``media``'s tags ranked :data:`TAG_RANK` or more that
    give nothing away, in MyAnimeList's words."""
    themes = []
    for tag in media.get("tags") or []:
        if not isinstance(tag, dict) or not tag.get("name"):
            continue
        if tag.get("isMediaSpoiler") or tag.get("isGeneralSpoiler"):
            continue
        rank = tag.get("rank")
        if isinstance(rank, int | float) and rank < TAG_RANK:
            continue
        themes.append(LABELS.get(tag["name"], tag["name"]))
    return themes


def _companies(studios) -> tuple[list[str], list[str]]:
    """The animation studios and the other companies of AniList's
    ``studios`` connection (its ``nodes``, or its ``edges``' nodes); all are
    studios where the query did not ask which animate."""
    if not isinstance(studios, dict):
        return [], []
    nodes = studios.get("nodes")
    if nodes is None:
        edges = studios.get("edges") or []
        nodes = [edge.get("node") for edge in edges if isinstance(edge, dict)]
    animate, other = [], []
    for node in nodes or []:
        if isinstance(node, dict) and node.get("name"):
            (other if node.get("isAnimationStudio") is False else animate).append(
                node["name"]
            )
    return animate, other


def _start_date(date) -> str | None:
    """AniList's ``startDate`` (``{"year", "month", "day"}``, any of them
    null) as the date text ``Aired`` holds: ``"2009-04-05"``, ``"2009-04"``
    or ``"2009"``."""
    if not isinstance(date, dict) or not isinstance(date.get("year"), int):
        return None
    parts = [date.get("year"), date.get("month"), date.get("day")]
    known = [f"{parts[0]:04d}"]
    for part in parts[1:]:
        if not isinstance(part, int):
            break
        known.append(f"{part:02d}")
    return "-".join(known)


def _premiered(season, year) -> str | None:
    """AniList's ``season`` and ``seasonYear`` as Kaggle's ``Premiered``
    (``"spring 2009"``), which ``load_mal`` reads where ``Aired`` has no
    date."""
    if isinstance(season, str) and isinstance(year, int):
        return f"{season.lower()} {year}"
    return None


def _cover(cover) -> str | None:
    """The URL of AniList's large cover image (else another size)."""
    if not isinstance(cover, dict):
        return None
    return cover.get("large") or cover.get("extraLarge") or cover.get("medium")
