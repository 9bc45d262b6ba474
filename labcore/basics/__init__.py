"""The course's first lessons, computed (the book's lessons 2 and 3): a perceptron on the plane, activations and
their derivatives (torch autograd), the collapse of stacked linear layers, losses from torch.nn.functional and
backpropagation on a tiny network, one operation at a time. Pure functions, instant; the Neurons page draws them
with `labcore.basics.figures`."""
