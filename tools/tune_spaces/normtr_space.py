# The search space of NORM-TR for tools/tune.py (plain data: one dict per
# parameter; format in normtr_plugin/engine/search_space.py).
#   python tools/tune.py configs/normtr_mmmo.py \
#       --space tools/tune_spaces/normtr_space.py --trials 30 --cv 5
# Ranges around the paper's recipe (SPEC: lr 1e-4, N = 256, 8 heads,
# alpha = beta = 0.01, noise kinds equally likely): the standard
# Transformer's space (lr, weight decay, dropout, N, depth, heads, epochs)
# plus what only NORM-TR has.
_base_ = ['./transformer_space.py']

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
