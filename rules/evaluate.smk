# Stage rules for 'evaluate' (written by the stage's owner).
