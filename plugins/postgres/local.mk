# postgres.so
