"""Plausible, made-up lake names from per-language syllable sets.

Every name is synthetic: syllables are glued together and wrapped in the way
lakes tend to be named in that language ("Furesø", "Lago di ...", "... Nuur").
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


def cumulative(weights: Sequence[float]) -> tuple[float, ...]:
    """Cumulative sums of ``weights``, for :func:`pick`."""
    return tuple(itertools.accumulate(weights))


def pick(rng: random.Random, options: Sequence[T], cum_weights: Sequence[float]) -> T:
    """Choose one of ``options`` with the given cumulative weights (a fast ``rng.choices``)."""
    return options[bisect.bisect_right(cum_weights, rng.random() * cum_weights[-1])]


@dataclass(frozen=True)
class NameStyle:
    """How lakes are named in one language: syllables and name patterns.

    A pattern is a format string where ``{r}`` stands for a capitalised root
    made of two or three syllables.
    """

    syllables: tuple[str, ...]
    patterns: tuple[str, ...]
    weights: tuple[int, ...]
    cum_weights: tuple[float, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cum_weights", cumulative(self.weights))


def _s(text: str) -> tuple[str, ...]:
    return tuple(text.split())


STYLES: dict[str, NameStyle] = {
    "danish": NameStyle(
        _s(
            "fur es ar ul ved tis ha der slev bor ne gen løg rø mos sil kjel ting lyn by ør "
            "skan dal bram sal vi hald tjæ re nør ly gund rus kol dyr hav ste"
        ),
        ("{r}sø", "{r} Sø", "Store {r}sø", "Lille {r}sø", "{r} Mose"),
        (60, 15, 8, 8, 4),
    ),
    "swedish": NameStyle(
        _s(
            "stor vät mä lar sil jan ås by berg ly sund hol ma tå kern ving ö ra fryk run "
            "bo al sjö vik ham gäl dal rott häl"
        ),
        ("{r}sjön", "{r}en", "Stora {r}sjön", "{r}träsket", "{r}vattnet"),
        (55, 15, 8, 12, 10),
    ),
    "norwegian": NameStyle(
        _s(
            "mjø sa tyri fem und ran rand tin sel bygd snå sa ei kvi tes lo ro hor ning "
            "vå gå fjell skogs ål bø sel tun"
        ),
        ("{r}vatnet", "{r}vannet", "{r}sjøen", "Store {r}vatn", "{r}tjern"),
        (40, 25, 15, 8, 12),
    ),
    "finnish": NameStyle(
        _s(
            "sai ma päi jän ne ou lu pie li nen ki lo kal la vesi kei te le pyhä jär vi "
            "ina ri sim pe le ori vesi ki tee näsi lam pi kuu sa mo"
        ),
        ("{r}järvi", "{r}lampi", "Iso {r}järvi", "{r}selkä"),
        (65, 20, 8, 7),
    ),
    "icelandic": NameStyle(
        _s("þing mý hvít langi fros ta lög ur skorra blöndu hóp kleif ar öskju grænu sand víf ils"),
        ("{r}vatn", "{r}vötn", "{r}lón"),
        (70, 15, 15),
    ),
    "german": NameStyle(
        _s(
            "am mer chiem ko nig bo den stein hu der wal chen ti ti stau ber mü ritz plö "
            "schwe rin tegel wann grund lau fel feld bach"
        ),
        ("{r}see", "{r}er See", "Großer {r}see", "Kleiner {r}see", "{r}weiher"),
        (55, 15, 10, 10, 10),
    ),
    "italian": NameStyle(
        _s(
            "gar da co mo mag gio re is e o tra si me no bol se na vi co bra cia no "
            "or ta lu ga no ce re sio ve ri"
        ),
        ("Lago di {r}", "Lago {r}", "Laghetto di {r}"),
        (65, 25, 10),
    ),
    "french": NameStyle(
        _s(
            "an ne cy bour get ser re pon çon lé man gé rard mer la cha lain sain te croix "
            "vas si vi è re pa ren tis"
        ),
        ("Lac de {r}", "Lac {r}", "Étang de {r}"),
        (60, 25, 15),
    ),
    "british": NameStyle(
        _s(
            "ness lo mond aw tay er icht ran noch win der mere con is ton bas sen thwaite "
            "ul ls wa ter bala tegid llyn gwy dyr"
        ),
        ("Loch {r}", "{r} Water", "Llyn {r}", "{r}mere", "{r} Tarn"),
        (40, 20, 15, 15, 10),
    ),
    "irish": NameStyle(
        _s("neagh corr ib derg mask conn ree ern leane gur ow el ennell ra mor bally na"),
        ("Lough {r}", "Lough {r}more", "{r} Lough"),
        (75, 15, 10),
    ),
    "polish": NameStyle(
        _s("śniar dwy mam ry drwę ca jez io rak ło bu kow wig ry ha ń cza gar dno leb sko wi gry"),
        ("Jezioro {r}", "Jezioro {r}skie", "Jezioro {r}owo"),
        (45, 30, 25),
    ),
    "russian": NameStyle(
        _s(
            "lado ga one ga bai kal cha ny sel iger ilmen bel oye kub en sko ye vod lo "
            "ser gin tai myr ko vo pskov"
        ),
        ("Ozero {r}", "Ozero {r}skoye", "Ozero {r}ovo", "Ozero {r}noye"),
        (40, 25, 15, 20),
    ),
    "english": NameStyle(
        _s(
            "su pe ri or mich i gan hu ron win ni peg nip is sing tahoe crater flat head "
            "cham plain ma ni to ba se ne ca cay uga ath a bas ca"
        ),
        ("Lake {r}", "{r} Lake", "Lake {r}a", "{r} Pond", "{r} Reservoir"),
        (50, 25, 10, 10, 5),
    ),
    "spanish": NameStyle(
        _s("ti ti ca ca na hu el ha pi gen eral car re ra lla nqui hue ruta ma yor chun ga ra"),
        ("Lago {r}", "Laguna {r}", "Lago {r}a", "Laguna de {r}"),
        (45, 30, 10, 15),
    ),
    "portuguese": NameStyle(
        _s("pa tos mi rim fei a ju tu ru ba ra ma ri cá ca tu ca ra pe bu sá"),
        ("Lagoa {r}", "Lagoa dos {r}s", "Lagoa do {r}", "Represa {r}"),
        (50, 20, 20, 10),
    ),
    "swahili": NameStyle(
        _s("na ku ru tu kan a bo go ria nai va sha ma ga di ba rin go ji pe e ya si nyan za chala"),
        ("Lake {r}", "Lake {r}i", "{r} Lake"),
        (70, 15, 15),
    ),
    "mongolian": NameStyle(
        _s("khöv sgöl uvs khar us bui r tel men ol gii doo dchan tsa gaan khyar gas orog boon"),
        ("{r} Nuur", "Khar {r} Nuur", "Tsagaan {r} Nuur"),
        (70, 15, 15),
    ),
    "chinese": NameStyle(
        _s("dong ting po yang tai chao hong ze qing hai nam co xi ming bo yang zhou dian er lu gu"),
        ("{r} Hu", "{r} Co", "{r} Chi"),
        (65, 20, 15),
    ),
    "japanese": NameStyle(
        _s("bi wa ka su mi ga u ra sa ro ma shi ko to ya inawa shiro ha ma na tazawa kutcha ro"),
        ("{r}-ko", "{r}-ike", "{r}-numa"),
        (65, 20, 15),
    ),
    "maori": NameStyle(
        _s("tau po wa ka ti pu ma na pou ri te a nau ro to rua wai ka re moa ta ra"),
        ("Lake {r}", "Lake {r}iti", "Lake {r}nui"),
        (75, 12, 13),
    ),
}


def _root(rng: random.Random, style: NameStyle) -> str:
    syllables = style.syllables
    n = len(syllables)
    root = syllables[int(rng.random() * n)] + syllables[int(rng.random() * n)]
    if rng.random() < 0.3:
        root += syllables[int(rng.random() * n)]
    return root


def lake_name(rng: random.Random, style_name: str) -> str:
    """Return one synthetic lake name in the given naming style."""
    style = STYLES[style_name]
    root = _root(rng, style)
    pattern = pick(rng, style.patterns, style.cum_weights)
    return pattern.format(r=root[:1].upper() + root[1:])


def unique_lake_name(rng: random.Random, style_name: str, taken: set[str]) -> str:
    """Return a synthetic name not yet in ``taken`` and add it there."""
    for _ in range(50):
        name = lake_name(rng, style_name)
        if name not in taken:
            taken.add(name)
            return name
    # Practically unreachable: fall back on a numbered variant.
    base = lake_name(rng, style_name)
    n = 2
    while f"{base} {n}" in taken:
        n += 1
    name = f"{base} {n}"
    taken.add(name)
    return name
