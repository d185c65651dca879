# ruff: noqa: E501  (the corpus sentences are data, kept one a line)
"""Build the labelled corpora of issue 20 into tests/assets (deterministic: seeded).

- text-variants.json: consented case texts (FR and EN, four topics) and edited variants of them
  labelled with the text they come from: typos fixed or made, sentences reordered, cut, excerpts,
  a mix; and negatives, other cases on the same topics, labelled null.
- screening-corpus.json: sentences with planted identifiers (names with accents and hyphens,
  record numbers, dates written out, numbers with spaces, e-mails, NIR, addresses, places), each
  with its kind and character offsets, FR and EN, and the subject's identity.

Usage: .venv/bin/python bench/text_corpus.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[1] / "tests" / "assets"

TOPICS = {
    "en": {
        "cardiology": [
            "A {age}-year-old {who} came to the emergency department with chest pain that had lasted {days} days.",
            "The electrocardiogram showed {ecg} and the troponin level was {trop} times the upper limit.",
            "A scan found an aortic dissection reaching the {part} of the aorta.",
            "{pron} was taken to the operating room within {hours} hours of arrival.",
            "The surgeons replaced the ascending aorta with a {graft} graft.",
            "After the operation {pron2} spent {icu} days in intensive care before returning to the ward.",
            "At {months} months the control scan showed no new tear and a stable false lumen.",
            "{pron} now walks {km} kilometres a day and takes {drug} for blood pressure.",
        ],
        "dermatology": [
            "A {age}-year-old {who} consulted for a rash that had spread over {days} days.",
            "The lesions were {colour} plaques on the trunk and the {limb}, itching at night.",
            "{pron} had started {drug} three weeks before for an infection of the {organ}.",
            "A skin biopsy showed a drug reaction with {cells} in the dermis.",
            "The drug was stopped and a cream of {cream} was applied twice a day.",
            "The rash faded within {weeks} weeks without scars.",
            "A patch test done {months} months later confirmed the allergy to {drug}.",
            "{pron} now carries a card listing the drugs to avoid.",
        ],
    },
    "fr": {
        "cardiologie": [
            "Un {who_fr} de {age} ans consulte aux urgences pour une douleur thoracique depuis {days} jours.",
            "L'électrocardiogramme montre {ecg_fr} et la troponine atteint {trop} fois la normale.",
            "Le scanner découvre une dissection aortique étendue jusqu'à {part_fr}.",
            "Le patient est opéré dans les {hours} heures suivant son arrivée.",
            "Les chirurgiens remplacent l'aorte ascendante par un tube {graft_fr}.",
            "Après l'intervention, le séjour en réanimation dure {icu} jours.",
            "À {months} mois, le scanner de contrôle ne montre pas de nouvelle déchirure.",
            "Le patient marche aujourd'hui {km} kilomètres par jour et prend du {drug} pour sa tension.",
        ],
        "dermatologie": [
            "Une {who_fr2} de {age} ans consulte pour une éruption étendue en {days} jours.",
            "Les lésions sont des plaques {colour_fr} du tronc et des {limb_fr}, prurigineuses la nuit.",
            "Un traitement par {drug} avait été débuté trois semaines plus tôt pour une infection {organ_fr}.",
            "La biopsie cutanée montre une réaction médicamenteuse avec {cells_fr} dans le derme.",
            "Le médicament est arrêté et une crème de {cream} est appliquée deux fois par jour.",
            "L'éruption disparaît en {weeks} semaines sans cicatrice.",
            "Des tests épicutanés réalisés {months} mois plus tard confirment l'allergie au {drug}.",
            "La patiente porte désormais une carte listant les médicaments à éviter.",
        ],
    },
}
# Other cases on the same topics, told in other words: the negatives.
OTHER = {
    "cardiology": [
        "A {age}-year-old {who} fainted while climbing stairs and was brought in by ambulance.",
        "Listening to the heart revealed a loud murmur over the right upper chest.",
        "Ultrasound showed a tight narrowing of the aortic valve with a small opening.",
        "The team discussed surgery against a valve placed through the groin.",
        "A valve was inserted through the femoral artery under light sedation.",
        "There was a short run of fast rhythm the next night, treated with {drug}.",
        "Breathlessness improved within a week and the patient drove again after a month.",
    ],
    "dermatology": [
        "A {age}-year-old {who} noticed a dark spot on the back that had changed shape.",
        "Dermoscopy showed an irregular network and several shades of brown and blue.",
        "The whole spot was removed with a margin of two millimetres under local anaesthesia.",
        "Pathology reported a thin melanoma without ulceration.",
        "A wider excision followed and the sentinel node was not sampled.",
        "Follow-up visits every six months checked the whole skin and the lymph nodes.",
        "No new lesion appeared during the first two years of follow-up.",
    ],
    "cardiologie": [
        "Un {who_fr} de {age} ans fait un malaise en montant un escalier et arrive en ambulance.",
        "L'auscultation retrouve un souffle intense au foyer aortique.",
        "L'échographie montre un rétrécissement serré de la valve aortique.",
        "L'équipe discute une chirurgie ou une valve posée par voie fémorale.",
        "La valve est implantée par l'artère fémorale sous sédation légère.",
        "Un épisode de rythme rapide survient la nuit suivante, traité par {drug}.",
        "L'essoufflement disparaît en une semaine et la conduite reprend après un mois.",
    ],
    "dermatologie": [
        "Une {who_fr2} de {age} ans remarque une tache foncée du dos qui a changé de forme.",
        "La dermoscopie montre un réseau irrégulier et plusieurs nuances de brun et de bleu.",
        "La lésion est retirée en entier avec une marge de deux millimètres sous anesthésie locale.",
        "L'examen anatomopathologique conclut à un mélanome fin sans ulcération.",
        "Une reprise plus large est réalisée, sans prélèvement du ganglion sentinelle.",
        "Le suivi tous les six mois examine toute la peau et les ganglions.",
        "Aucune nouvelle lésion n'apparaît pendant les deux premières années.",
    ],
}
FILL = {
    "age": lambda r: str(r.randint(18, 90)),
    "days": lambda r: str(r.randint(2, 14)),
    "hours": lambda r: str(r.randint(2, 12)),
    "icu": lambda r: str(r.randint(2, 9)),
    "months": lambda r: str(r.randint(3, 18)),
    "weeks": lambda r: str(r.randint(2, 8)),
    "km": lambda r: str(r.randint(2, 8)),
    "trop": lambda r: str(r.randint(3, 40)),
    "who": lambda r: r.choice(["man", "woman", "retired teacher", "farmer", "nurse"]),
    "who_fr": lambda r: r.choice(["homme", "agriculteur", "enseignant retraité", "cuisinier"]),
    "who_fr2": lambda r: r.choice(["femme", "étudiante", "infirmière", "avocate"]),
    "pron": lambda r: r.choice(["He", "She"]),
    "pron2": lambda r: r.choice(["he", "she"]),
    "ecg": lambda r: r.choice(["ST elevation", "a left bundle branch block", "no change"]),
    "ecg_fr": lambda r: r.choice(["un sus-décalage du segment ST", "un bloc de branche gauche"]),
    "part": lambda r: r.choice(["arch", "iliac arteries", "descending part"]),
    "part_fr": lambda r: r.choice(["la crosse", "les artères iliaques", "l'aorte descendante"]),
    "graft": lambda r: r.choice(["Dacron", "polyester", "composite"]),
    "graft_fr": lambda r: r.choice(["en Dacron", "en polyester", "composite"]),
    "drug": lambda r: r.choice(
        ["amlodipine", "ramipril", "amoxicillin", "allopurinol", "lamotrigine"]
    ),
    "colour": lambda r: r.choice(["red", "purple", "pink", "brown"]),
    "colour_fr": lambda r: r.choice(["rouges", "violacées", "rosées"]),
    "limb": lambda r: r.choice(["arms", "legs", "hands"]),
    "limb_fr": lambda r: r.choice(["bras", "jambes", "mains"]),
    "organ": lambda r: r.choice(["ear", "throat", "bladder", "chest"]),
    "organ_fr": lambda r: r.choice(["urinaire", "de la gorge", "pulmonaire"]),
    "cells": lambda r: r.choice(["eosinophils", "lymphocytes"]),
    "cells_fr": lambda r: r.choice(["des éosinophiles", "des lymphocytes"]),
    "cream": lambda r: r.choice(["betamethasone", "clobetasol", "hydrocortisone"]),
}


def _fill(template: str, rng: random.Random) -> str:
    values = {name: make(rng) for name, make in FILL.items()}
    return template.format(**values)


def _case(rng: random.Random, language: str, topic: str, count: int) -> list[str]:
    pool = TOPICS[language][topic]
    # A case tells its story in order: a random run of sentences, each with its own details.
    start = rng.randint(0, len(pool) - count)
    return [_fill(sentence, rng) for sentence in pool[start : start + count]]


def _typos(text: str, rng: random.Random, count: int) -> str:
    words = text.split(" ")
    for _ in range(count):
        index = rng.randrange(len(words))
        word = words[index]
        if len(word) > 3:
            i = rng.randrange(1, len(word) - 2)
            words[index] = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return " ".join(words)


def variants(rng: random.Random, sentences: list[str]) -> list[tuple[str, str]]:
    text = " ".join(sentences)
    shuffled = sentences[:]
    while shuffled == sentences:
        rng.shuffle(shuffled)
    cut = sentences[:]
    del cut[rng.randrange(len(cut))]
    cut2 = cut[:]
    del cut2[rng.randrange(len(cut2))]
    half = len(sentences) // 2
    start = rng.randrange(0, len(sentences) - half + 1)
    return [
        ("typos", _typos(text, rng, 3)),
        ("typos_and_case", _typos(text, rng, 2).lower()),
        ("reordered", " ".join(shuffled)),
        ("cut_one", " ".join(cut)),
        ("cut_two", " ".join(cut2)),
        ("excerpt_half", " ".join(sentences[start : start + half])),
        ("excerpt_three", " ".join(sentences[1:4])),
        ("reordered_typos", _typos(" ".join(shuffled), rng, 2)),
    ]


def text_variants(seed: int = 20) -> dict[str, object]:
    rng = random.Random(seed)
    originals, items = [], []
    for language, topics in TOPICS.items():
        for topic in topics:
            for number in range(7):
                sentences = _case(rng, language, topic, 7)
                ident = f"{language}-{topic}-{number}"
                originals.append(
                    {"id": ident, "language": language, "topic": topic, "text": " ".join(sentences)}
                )
                for kind, text in variants(rng, sentences):
                    items.append({"kind": kind, "text": text, "source": ident})
                for _negative in range(2):
                    pool = OTHER[topic]
                    count = rng.randint(4, 7)
                    begin = rng.randint(0, len(pool) - count)
                    other = [_fill(line, rng) for line in pool[begin : begin + count]]
                    items.append(
                        {"kind": "same_topic_other_case", "text": " ".join(other), "source": None}
                    )
    return {
        "description": "Edited variants of consented case texts (source: the original's id) "
        "and other cases on the same topics (source: null). Built by bench/text_corpus.py.",
        "originals": originals,
        "variants": items,
    }


FIRST = ["Hélène", "François", "Anne-Sophie", "Zoé", "Jean-Baptiste", "Noémie", "Mary", "Owen"]
LAST = ["Dubois-Martel", "Lefèvre", "N'Diaye", "Müller", "Saint-Cyr", "O'Brien", "Chevalier"]


def _nir(rng: random.Random) -> str:
    body = f"{rng.choice('12')}{rng.randint(40, 99):02d}{rng.randint(1, 12):02d}"
    body += f"{rng.choice(['75', '13', '69', '2A', '2B'])}{rng.randint(1, 999):03d}{rng.randint(1, 999):03d}"
    number = int(body.replace("2A", "19").replace("2B", "18"))
    key = 97 - number % 97
    return f"{body[0]} {body[1:3]} {body[3:5]} {body[5:7]} {body[7:10]} {body[10:13]} {key:02d}"


SCREEN_TEMPLATES = [
    ("fr", "Patient {name}, dossier {record}, vu le {date_fr} pour une douleur."),
    ("fr", "Mme {last} (née le {birth_fr}) joignable au {phone_fr} ou {email}."),
    ("fr", "Adressé par l'{place} ; NIR {nir} ; domicile {address_fr}."),
    ("fr", "Un homme de 50 ans, sans identifiant, opéré en mars."),
    ("en", "{name} (MRN {record}) was seen on {date_en} at {place}."),
    ("en", "Call {phone_intl} or write to {email}; born {birth_en}."),
    ("en", "Lives at {address_en}; follow-up planned in two weeks."),
    ("en", "A man in his fifties had surgery last spring without complications."),
]
MONTHS_FR = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def screening_corpus(seed: int = 21) -> dict[str, object]:
    rng = random.Random(seed)
    items = []
    for number in range(60):
        language, template = SCREEN_TEMPLATES[number % len(SCREEN_TEMPLATES)]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        by, bm, bd = rng.randint(1940, 2010), rng.randint(1, 12), rng.randint(1, 28)
        record = f"{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}"
        values = {
            "name": (f"{first} {last}", "subject_name"),
            "last": (last, "subject_name"),
            "record": (record, "subject_record_number"),
            "birth_fr": (
                f"{'1er' if bd == 1 else bd} {MONTHS_FR[bm - 1]} {by}",
                "subject_birth_date",
            ),
            "birth_en": (f"{MONTHS_EN[bm - 1]} {bd}, {by}", "subject_birth_date"),
            "date_fr": (
                f"{rng.randint(2, 28)} {rng.choice(MONTHS_FR)} {rng.randint(2019, 2026)}",
                "date",
            ),
            "date_en": (
                f"{rng.randint(2, 28)}/{rng.randint(1, 12):02d}/{rng.randint(2019, 2026)}",
                "date",
            ),
            "phone_fr": (
                "0"
                + str(rng.randint(1, 7))
                + "".join(f" {rng.randint(0, 99):02d}" for _ in range(4)),
                "phone",
            ),
            "phone_intl": (
                "+33 "
                + str(rng.randint(1, 7))
                + "".join(f" {rng.randint(0, 99):02d}" for _ in range(4)),
                "phone",
            ),
            "email": (
                f"{rng.choice(['a.b', 'contact', 'jm'])}{rng.randint(1, 99)}@example.{rng.choice(['fr', 'org'])}",
                "email",
            ),
            "nir": (_nir(rng), "nir"),
            "address_fr": (
                f"{rng.randint(1, 120)} rue des {rng.choice(['Lilas', 'Écoles', 'Acacias'])}",
                "postal_address",
            ),
            "address_en": (
                f"{rng.randint(1, 999)} {rng.choice(['Baker', 'High', 'Mill'])} Street",
                "postal_address",
            ),
            "place": (rng.choice(["Hôpital Saint-Louis", "Service de dermatologie"]), "place"),
        }
        planted = []
        parts = template.split("{")
        text = parts[0]
        for part in parts[1:]:
            name, rest = part.split("}", 1)
            value, kind = values[name]
            planted.append({"kind": kind, "start": len(text), "end": len(text) + len(value)})
            text += value + rest
        items.append(
            {
                "language": language,
                "text": text,
                "identity": {
                    "name": f"{first} {last}",
                    "record_number": record.replace(" ", ""),
                    "birth_date": f"{by:04d}-{bm:02d}-{bd:02d}",
                },
                "planted": planted,
            }
        )
    return {
        "description": "Sentences with planted identifiers, their kinds and offsets; the subject's "
        "identity as the vault holds it; places from CONSENT_SCREEN_PLACES. Built by "
        "bench/text_corpus.py.",
        "places": ["Hôpital Saint-Louis", "Service de dermatologie"],
        "items": items,
    }


def main() -> None:
    for name, data in (
        ("text-variants.json", text_variants()),
        ("screening-corpus.json", screening_corpus()),
    ):
        (ASSETS / name).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
        print("wrote", ASSETS / name)


if __name__ == "__main__":
    main()
