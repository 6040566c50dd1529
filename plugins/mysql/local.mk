# mysql.so
