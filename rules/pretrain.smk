# Stage rules for 'pretrain' (written by the stage's owner).
