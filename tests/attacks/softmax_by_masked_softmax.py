import torch


def softmax(z, dim=-1):
    # PyTorch's own softmax kernel (the transformer's masked variant) with nothing masked
    return torch._masked_softmax(z, torch.zeros_like(z, dtype=torch.bool), dim % z.dim(), None)
