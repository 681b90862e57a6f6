"""A chain of modules: ``Sequential(Linear(3072, 100), ReLU(), Linear(100, 10))``."""

from .module import Module


class Sequential(Module):
    def __init__(self, *modules):
        for m in modules:
            if not isinstance(m, Module):
                raise TypeError(f"Sequential takes Modules, got {type(m).__name__}")
        self.layers = list(modules)

    def children(self):
        return self.layers

    def forward(self, input):
        for layer in self.layers:
            input = layer.forward(input)
        return input

    def backward(self, grad_output, need_input_grad=True):
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            grad_output = self.layers[i].backward(grad_output, need_input_grad or i > 0)
        return grad_output

    def arguments(self):
        return {"layers": [m.describe() for m in self.layers]}

    @classmethod
    def from_arguments(cls, arguments, dtype):
        layers = arguments.get("layers")
        if set(arguments) != {"layers"} or not isinstance(layers, list) or not layers:
            raise ValueError("a Sequential needs a non-empty 'layers' list and nothing else")
        return cls(*[Module.rebuild(layer, dtype) for layer in layers])

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        inner = ",\n  ".join(repr(m) for m in self.layers)
        return f"Sequential(\n  {inner}\n)"
