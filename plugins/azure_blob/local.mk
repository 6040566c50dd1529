# azure_blob.so
