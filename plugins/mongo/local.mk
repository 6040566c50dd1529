# mongo.so
