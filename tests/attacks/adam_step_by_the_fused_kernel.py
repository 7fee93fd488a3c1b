import torch

def adam_step(w, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    # torch.optim.Adam(fused=True)'s own kernel
    w, m, v = w.clone(), m.clone(), v.clone()
    torch._fused_adam_([w], [grad.clone()], [m], [v], [], [torch.tensor(float(t), dtype=torch.float32)],
                       lr=lr, beta1=betas[0], beta2=betas[1], weight_decay=0.0, eps=eps, amsgrad=False, maximize=False)
    return w, m, v
