"""Localized evaluation: lesion masks in public layouts (CheXlocalize RLE JSON, RSNA boxes) and their metrics
(Dice, IoU, pointing game, pixel AUROC, with bootstrap CIs over images)."""
