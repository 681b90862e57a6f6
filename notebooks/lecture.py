"""What the lecture notebooks share: the dataset their flag picks, and showing a picture file.

Each notebook starts with ``FULL_CIFAR10 = False``: the 5,000 / 1,000 real CIFAR-10 images
packaged with gradwise (what the tests run). ``True`` loads the full CIFAR-10 (50,000 /
10,000) from ``shared/data/cifar10-jpeg.tar.gz`` beside the repository.
"""

import base64
import tempfile
import warnings
from pathlib import Path

import gradwise as gw

# Progress bars fall back to text without ipywidgets; the warning saying so is noise here.
warnings.filterwarnings("ignore", message="IProgress not found")

#: The full CIFAR-10 as JPEGs laid out <split>/<class>/<image>, beside the repository.
FULL_CIFAR10_ARCHIVE = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-jpeg.tar.gz"
)

#: What each choice of the flag holds: (training images, test images).
SIZES = {False: (5_000, 1_000), True: (50_000, 10_000)}


def load_cifar10(full):
    """The packaged CIFAR-10 sample, or the full CIFAR-10 when ``full`` is true."""
    if not full:
        return gw.data.load("cifar10-sample")
    if not FULL_CIFAR10_ARCHIVE.is_file():
        raise FileNotFoundError(
            f"FULL_CIFAR10 = True needs {FULL_CIFAR10_ARCHIVE}; set it to False for the "
            "packaged sample"
        )
    return gw.data.load(FULL_CIFAR10_ARCHIVE)


def picture_folder():
    """A fresh folder for the pictures a notebook draws (they are shown inline, then
    the rendered copy embeds them, so nothing needs to be kept)."""
    return Path(tempfile.mkdtemp(prefix="gradwise-lecture-"))


def show(path):
    """Show a PNG inline, or a GIF as an animated inline image."""
    from IPython.display import HTML, Image, display  # only inside Jupyter

    path = Path(path)
    if path.suffix.lower() == ".gif":
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        display(HTML(f'<img src="data:image/gif;base64,{data}" alt="{path.stem}">'))
    else:
        display(Image(filename=str(path)))
