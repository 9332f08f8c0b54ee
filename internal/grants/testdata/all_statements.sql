-- every statement kind, in mixed case and loose layout
create role if not exists Admins ;
CREATE ROLE `data-readers`;
drop role old_role; drop role if exists `older role`;
Grant Role admins To Group `ops team`;
REVOKE ROLE admins FROM GROUP interns;
grant all on server to role admins;
GRANT show , select ON URI 's3a://raw-data.example/landing/2024/' TO ROLE `data-readers`;
GRANT INSERT, DELETE ON URI 's3://scratch-bucket' TO ROLE etl;
GRANT CREATE, DROP, ALTER ON DATABASE sales TO ROLE etl;
GRANT SELECT (id, amount, `select`) ON TABLE sales.orders TO ROLE analysts;
GRANT SELECT ON TABLE sales.orders
  WHERE region IN ('eu', "us")   -- row filter
    AND (amount<800 OR vip = true)
  TO ROLE analysts;
REVOKE SELECT(id) ON TABLE sales.orders FROM ROLE analysts;
REVOKE ALL ON URI 'S3://raw-data.example' FROM ROLE etl;
SHOW ROLES;
show grants on role analysts;
SHOW ROLE GRANT GROUP `ops team`;
SHOW CURRENT ROLES
