"""Brazilian identities: names, cities with area codes, e-mail domains and phone formats.

People are drawn as small integer codes (index into these tuples), never as Python strings per
person: the writers turn codes into text inside DuckDB, which keeps a million contacts cheap.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final

import numpy as np

from integrations.demo_world.sampling import categorical

FEMALE_NAMES: Final[tuple[str, ...]] = (
    "Maria", "Ana", "Juliana", "Fernanda", "Patrícia", "Aline", "Camila", "Amanda", "Bruna", "Jéssica",
    "Letícia", "Mariana", "Gabriela", "Beatriz", "Larissa", "Vanessa", "Luciana", "Renata", "Carla", "Débora",
    "Tatiane", "Priscila", "Sabrina", "Isabela", "Júlia", "Raquel", "Simone", "Cláudia", "Adriana", "Sandra",
    "Helena", "Lívia", "Natália", "Bianca", "Carolina", "Daniela", "Elaine", "Márcia", "Rosana", "Vitória",
)  # fmt: skip
MALE_NAMES: Final[tuple[str, ...]] = (
    "José", "João", "Antônio", "Francisco", "Carlos", "Paulo", "Pedro", "Lucas", "Luiz", "Marcos",
    "Luís", "Gabriel", "Rafael", "Daniel", "Marcelo", "Bruno", "Eduardo", "Felipe", "Rodrigo", "Gustavo",
    "Thiago", "Leonardo", "André", "Fernando", "Fábio", "Diego", "Mateus", "Vinícius", "Guilherme", "Ricardo",
    "Sérgio", "Caio", "Otávio", "Henrique", "Igor", "Renan", "Júlio", "Márcio", "Cristiano", "Roberto",
)  # fmt: skip
FIRST_NAMES: Final[tuple[str, ...]] = FEMALE_NAMES + MALE_NAMES
LAST_NAMES: Final[tuple[str, ...]] = (
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
    "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes", "Vieira", "Barbosa",
    "Rocha", "Dias", "Nascimento", "Andrade", "Moreira", "Nunes", "Marques", "Machado", "Mendes", "Freitas",
    "Cardoso", "Ramos", "Gonçalves", "Santana", "Teixeira", "Araújo", "Pinto", "Correia", "Cavalcanti", "Monteiro",
    "Moura", "Azevedo", "Batista", "Campos", "Castro", "Cunha", "Farias", "Fonseca", "Medeiros", "Peixoto",
)  # fmt: skip


@dataclass(frozen=True)
class City:
    name: str
    state: str
    ddd: int
    weight: float
    region: int  # index into config.REGIONS: 0 = SP, 1 = South/Southeast, 2 = the rest


CITIES: Final[tuple[City, ...]] = (
    City("São Paulo", "SP", 11, 0.20, 0),
    City("Guarulhos", "SP", 11, 0.02, 0),
    City("Campinas", "SP", 19, 0.04, 0),
    City("Santos", "SP", 13, 0.02, 0),
    City("Ribeirão Preto", "SP", 16, 0.02, 0),
    City("Sorocaba", "SP", 15, 0.015, 0),
    City("Rio de Janeiro", "RJ", 21, 0.09, 1),
    City("Niterói", "RJ", 21, 0.015, 1),
    City("Belo Horizonte", "MG", 31, 0.06, 1),
    City("Uberlândia", "MG", 34, 0.015, 1),
    City("Curitiba", "PR", 41, 0.045, 1),
    City("Londrina", "PR", 43, 0.01, 1),
    City("Porto Alegre", "RS", 51, 0.045, 1),
    City("Caxias do Sul", "RS", 54, 0.01, 1),
    City("Florianópolis", "SC", 48, 0.025, 1),
    City("Joinville", "SC", 47, 0.015, 1),
    City("Vitória", "ES", 27, 0.012, 1),
    City("Salvador", "BA", 71, 0.035, 2),
    City("Recife", "PE", 81, 0.03, 2),
    City("Fortaleza", "CE", 85, 0.03, 2),
    City("Brasília", "DF", 61, 0.04, 2),
    City("Goiânia", "GO", 62, 0.025, 2),
    City("Manaus", "AM", 92, 0.012, 2),
    City("Belém", "PA", 91, 0.012, 2),
    City("Cuiabá", "MT", 65, 0.008, 2),
    City("Campo Grande", "MS", 67, 0.008, 2),
)

EMAIL_DOMAINS: Final[tuple[tuple[str, float], ...]] = (
    ("gmail.com", 0.55),
    ("hotmail.com", 0.15),
    ("outlook.com", 0.08),
    ("yahoo.com.br", 0.07),
    ("uol.com.br", 0.05),
    ("bol.com.br", 0.04),
    ("icloud.com", 0.04),
    ("terra.com.br", 0.02),
)
# E-mail local parts: {f} first name, {l} last name, {i} first initial; a unique number follows.
EMAIL_PATTERNS: Final[tuple[str, ...]] = ("{f}.{l}", "{f}{l}", "{f}_{l}", "{i}{l}", "{f}.{l}.")
# How people type their phone into a form; all carry the same digits (see ``wa_id``).
PHONE_FORMATS: Final[tuple[str, ...]] = (
    "+55 {ddd} {a}-{b}",
    "({ddd}) {a}-{b}",
    "{ddd}{a}{b}",
    "+55{ddd}{a}{b}",
    "{ddd} {a} {b}",
)
PHONE_FORMAT_WEIGHTS: Final[tuple[float, ...]] = (0.30, 0.30, 0.20, 0.10, 0.10)
# Bijections of contact sequence numbers (x -> x * odd multiplier not ending in 5 + offset, modulo a
# power of ten) give every contact a unique, random-looking phone number and e-mail suffix.
PHONE_MULTIPLIER: Final = 73_939_133
EMAIL_MULTIPLIER: Final = 7_654_321
EMAIL_SUFFIX_SPACE: Final = 10_000_000


def ascii_fold(text: str) -> str:
    """Lower-case ASCII for e-mail local parts ("Conceição" -> "conceicao")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def weights(values: tuple[float, ...]) -> np.ndarray:
    """Normalised probability vector."""
    array = np.asarray(values, dtype=np.float64)
    return array / array.sum()


def draw_people(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Codes for ``n`` people: first/last name, city, e-mail pattern and domain, phone format."""
    first = np.concatenate(
        [
            rng.integers(0, len(FEMALE_NAMES), n),
            rng.integers(len(FEMALE_NAMES), len(FIRST_NAMES), n),
        ]
    )
    female = rng.random(n) < 0.58  # pet-care buyers skew female
    first = np.where(female, first[:n], first[n:])
    return {
        "first_name": first.astype(np.int16),
        "last_name": rng.integers(0, len(LAST_NAMES), n).astype(np.int16),
        "city": categorical(rng, [c.weight for c in CITIES], n).astype(np.int16),
        "email_pattern": rng.integers(0, len(EMAIL_PATTERNS), n).astype(np.int8),
        "email_domain": categorical(rng, [w for _, w in EMAIL_DOMAINS], n).astype(np.int8),
        "phone_format": categorical(rng, PHONE_FORMAT_WEIGHTS, n).astype(np.int8),
    }


PEOPLE_COLUMNS: Final[tuple[str, ...]] = (
    "first_name",
    "last_name",
    "city",
    "email_pattern",
    "email_domain",
    "phone_format",
)


def subscriber_numbers(sequence: np.ndarray, offset: int) -> np.ndarray:
    """Unique 9-digit mobile numbers (9XXXXXXXX) for distinct sequence numbers below 10**8."""
    return 900_000_000 + (sequence.astype(np.int64) * PHONE_MULTIPLIER + offset) % 100_000_000


def email_suffixes(sequence: np.ndarray, offset: int) -> np.ndarray:
    """Unique numbers appended to e-mail local parts, for distinct sequence numbers below 10**7."""
    return (sequence.astype(np.int64) * EMAIL_MULTIPLIER + offset) % EMAIL_SUFFIX_SPACE


CITY_REGION: Final = np.array([c.region for c in CITIES], dtype=np.int8)
CITY_DDD: Final = np.array([c.ddd for c in CITIES], dtype=np.int16)
