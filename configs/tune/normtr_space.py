# The search space of NORM-TR for tools/tune.py (plain data: one dict per
# parameter; format in normtr_plugin/engine/search_space.py).
#   python tools/tune.py configs/normtr_mmmo.py \
#       --space configs/tune/normtr_space.py --trials 30 --cv 5
# Ranges around the paper's recipe (SPEC: lr 1e-4, N = 256, 8 heads,
# alpha = beta = 0.01, noise kinds equally likely).
lr = dict(key='optim_wrapper.optimizer.lr', type='float', low=1e-5,
          high=1e-3, log=True)
weight_decay = dict(key='optim_wrapper.optimizer.weight_decay',
                    type='float', low=1e-6, high=1e-2, log=True)
dropout = dict(key='model.fusion.dropout', type='float', low=0.0, high=0.3)
# N: the width of the projected tokens (NRGF/MF tokens and the decoder are
# N/2 wide); every choice of N/2 divides by every choice of heads
N = dict(key='model.embed_dim', type='categorical', choices=[64, 128, 256])
depth = dict(key='model.fusion.depth', type='int', low=1, high=4)
heads = dict(key='model.fusion.num_heads', type='categorical',
             choices=[2, 4, 8])
# alpha, beta: the weights of the two adversarial losses (Eq. 11)
alpha = dict(key='model.loss_weights.adv1', type='float', low=1e-3,
             high=1e-1, log=True)
beta = dict(key='model.loss_weights.adv2', type='float', low=1e-3,
            high=1e-1, log=True)
# (clean, type-1, type-2) erasure probabilities of the noise-aware task
noise_probs = dict(key='model.noise.probs', type='categorical',
                   choices=dict(even=[1 / 3, 1 / 3, 1 / 3],
                                clean_half=[0.5, 0.25, 0.25],
                                noisy=[0.2, 0.4, 0.4]))
# the schedule's end moves with the epoch count
epochs = dict(key='train_cfg.max_epochs', type='int', low=8, high=30,
              step=2)
