# MMMO: Table 6 "Standard transformer (baseline)" on projected inputs.
_base_ = ['../../normtr_mmmo.py']

model = dict(
    query='projected', memory='projected', nrgf=None, mf=None,
    modality_discriminator=None, noise_discriminator=None, noise=None,
    loss_weights=dict(adv1=0.0, adv2=0.0),
    fusion=dict(_delete_=True, type='TransformerEncoderFusion',
                depth={{_base_.model.fusion.depth}}))
