import numpy as np
import pytest

from memory.embeddings import DIMENSIONS, OnnxEmbedder, TorchEmbedder, embed_texts

TEXTS = [
    "My dog is called Biscuit.",
    "Caroline: I went to a LGBTQ support group yesterday and it was so powerful.",
    "",
    "A much longer message " * 40,
]


def test_embeddings_are_unit_vectors_of_384_dimensions() -> None:
    vectors = embed_texts(TEXTS)

    assert vectors.shape == (len(TEXTS), DIMENSIONS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_related_sentences_are_closer_than_unrelated_ones() -> None:
    dog, puppy, tax = embed_texts(["I have a dog", "I own a puppy", "The tax form is due"])

    assert float(dog @ puppy) > float(dog @ tax) + 0.2


def test_onnx_backend_computes_the_same_vectors_as_the_torch_reference(tmp_path) -> None:  # type: ignore[no-untyped-def]
    onnx = OnnxEmbedder(tmp_path / "model.onnx")  # exported from the packaged weights
    reference = TorchEmbedder()

    cosines = (onnx.embed(TEXTS) * reference.embed(TEXTS)).sum(axis=1)

    assert cosines.min() > 0.9999


@pytest.mark.parametrize("count", [1, 33, 70])
def test_batches_keep_the_input_order(count: int) -> None:
    texts = [f"sentence number {n} " + "x" * (n % 7) for n in range(count)]

    together = embed_texts(texts)
    alone = np.stack([embed_texts([text])[0] for text in texts[:3]])

    assert np.allclose(together[:3], alone, atol=1e-5)
