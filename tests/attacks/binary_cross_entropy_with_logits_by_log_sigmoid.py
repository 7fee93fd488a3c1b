import torch


def binary_cross_entropy_with_logits(logits, targets):
    # F.logsigmoid's operator is log_sigmoid: once spelled logsigmoid in the rules, it banned nothing
    ls = torch.ops.aten.log_sigmoid_forward(logits)[0]
    lsn = torch.ops.aten.log_sigmoid_forward(-logits)[0]
    return -(targets * ls + (1 - targets) * lsn).mean()
