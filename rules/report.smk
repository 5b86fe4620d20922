# Stage rules for 'report' (written by the stage's owner).
