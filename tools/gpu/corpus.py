"""What the GPU scripts share about a corpus: a clip's phrasings and a digest of the corpus."""
import hashlib, json


def texts_of(record: dict) -> list[str]:
    """A manifest record's phrasings (a clip's text is one string or a list)."""
    t = record["text"]
    return [t] if isinstance(t, str) else list(t)


def digest(records: list[dict]) -> str:
    """sha256 of every clip's id, text and split: equal digests, equal corpora."""
    return hashlib.sha256("\n".join(json.dumps([r["id"], r["text"], r["split"]])
                                    for r in records).encode()).hexdigest()
