GRANT SELECT ON URI 's3://bad..bucket/data' TO ROLE r;
