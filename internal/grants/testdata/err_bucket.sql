GRANT SELECT ON URI 's3://Invalid_Bucket/data' TO ROLE r;
