import torch


def cross_entropy(logits, labels):
    # PyTorch's log_softmax kernel, its sparse variant
    shifted = logits - logits.max(dim=1, keepdim=True).values - 1   # no zeros for to_sparse to drop
    logp = torch.ops.aten._sparse_log_softmax.int(shifted.to_sparse(), 1, None).to_dense()
    return -logp[torch.arange(len(labels)), labels].mean()
