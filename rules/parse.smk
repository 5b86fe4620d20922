# Stage rules for 'parse' (written by the stage's owner).
