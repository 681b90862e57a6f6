"""k-nearest neighbours: cross-validation accuracy against k."""

from matplotlib.ticker import NullFormatter

from .style import new_figure, save_figure


def plot_accuracy(ks, accuracy, path, title=""):
    """Each fold's accuracy as a dot, the mean with std error bars, against k."""
    fig = new_figure(6.0, 4.0)
    ax = fig.subplots()
    for j, k in enumerate(ks):
        ax.scatter([k] * len(accuracy), accuracy[:, j], color="0.55", s=14)
    ax.errorbar(ks, accuracy.mean(axis=0), yerr=accuracy.std(axis=0), color="#0072B2", capsize=3)
    ax.set_xscale("log")
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.xaxis.set_minor_formatter(NullFormatter())  # only the k that were tried are labelled
    ax.set_xlabel("k (log scale)")
    ax.set_ylabel("cross-validation accuracy")
    ax.set_title(f"k-nearest neighbours: accuracy vs k ({title})")
    return save_figure(fig, path)
