import torch
import torch.nn.functional as F


def sigmoid(z):
    # glu(a, b) = a * sigmoid(b): PyTorch's sigmoid kernel with a = 1
    if z.dim():
        return F.glu(torch.cat([torch.ones_like(z), z], dim=-1), dim=-1)
    return F.glu(torch.stack([torch.ones_like(z), z]), 0)[0]
