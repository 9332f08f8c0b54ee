-- every catalog statement form, mixed case and loose layout
create database if not exists Experiments comment 'scratch space'
  location 's3a://experimental/workspaces/';
CREATE SCHEMA `Sales-EU` LOCATION 's3://sales-data/eu';
create database plain;
DROP DATABASE IF EXISTS old CASCADE;
drop schema older restrict;
CREATE EXTERNAL TABLE IF NOT EXISTS Sales.Orders (
  ID bigint COMMENT 'order id',
  Amount DECIMAL(12, 2),
  price decimal,
  ratio Decimal(5),
  code CHAR(3), note VarChar(200),
  flag boolean, small TINYINT, mid SMALLINT, n Integer, f FLOAT, d DOUBLE PRECISION,
  created TIMESTAMP, day date, raw BINARY,
  tags ARRAY<STRING>,
  attrs map<string, array<int>>,
  addr struct<Street:string COMMENT 'line 1', Zip:int, geo:struct<lat:double,lon:double>>,
  nested array<struct<a:array<map<string,int>>>>,
  -- contextual keywords as bare column names
  location string, comment string, format string, region string, stored string,
  `select` string, `Mixed Case` string
)
COMMENT 'orders, one row each'
PARTITIONED BY (year int, month int COMMENT 'month of year')
ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
STORED AS textfile
LOCATION 's3://sales-data/orders/'
TBLPROPERTIES ('skip.header.line.count'='1', 'owner' = 'etl team');
create table logs.raw (line string) stored as jsonfile location 's3://logs-bucket/raw';
CREATE EXTERNAL TABLE db.tsv (a string, b string) ROW FORMAT DELIMITED FIELDS TERMINATED BY '\t' STORED AS TEXTFILE LOCATION 's3://bkt/tsv';
CREATE EXTERNAL TABLE db.ctrl_a (a string) ROW FORMAT DELIMITED FIELDS TERMINATED BY '\001' STORED AS ORC LOCATION 's3://bkt/ctrl';
CREATE EXTERNAL TABLE db.av (a string) STORED AS AVRO LOCATION 's3://bkt';
CREATE EXTERNAL TABLE db.inferred LIKE PARQUET 's3://bkt/data/part-0.parquet';
CREATE EXTERNAL TABLE IF NOT EXISTS db.inferred2 LIKE PARQUET 's3a://bkt/data/part-0.parquet'
  COMMENT 'schema from a file' PARTITIONED BY (dt string) STORED AS PARQUET
  LOCATION 's3://bkt/data' TBLPROPERTIES ('a'='b');
DROP TABLE IF EXISTS Sales.Orders;
drop table db.t;
ALTER TABLE Sales.Orders SET LOCATION 's3://sales-data/orders-v2/';
alter table sales.orders add columns (Discount decimal(5,2) comment 'percent', location string);
ALTER TABLE sales.orders RENAME TO Archive.Orders_2023;
ALTER TABLE sales.orders RECOVER PARTITIONS;
msck repair table Sales.Orders;
ALTER TABLE sales.orders ADD IF NOT EXISTS PARTITION (Year=2024, month='07', region='eu-west') LOCATION 's3://sales-data/other/2024-07';
ALTER TABLE sales.orders ADD PARTITION (year=-1, rate=0.5);
ALTER TABLE sales.orders DROP IF EXISTS PARTITION (year='2023');
alter table sales.orders drop partition (year=2022, month=1);
SHOW DATABASES;
show schemas;
SHOW TABLES;
show tables in Sales;
SHOW TABLES FROM `in`;
DESCRIBE sales.orders;
desc formatted Sales.Orders;
DESCRIBE formatted.t;
DESCRIBE FORMATTED formatted.t;
SHOW CREATE TABLE sales.orders;
show partitions Sales.Orders;
-- grant objects lower-case their database, table and column names; roles keep their case
GRANT SELECT(ID, `Amount`) ON TABLE Sales.Orders TO ROLE Analysts;
GRANT ALL ON DATABASE `Sales-EU` TO ROLE EU_Admins;
REVOKE SELECT ON TABLE SALES.ORDERS FROM ROLE Analysts;
