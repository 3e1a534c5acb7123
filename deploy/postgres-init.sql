-- The MLflow tracking server keeps its metadata in its own database beside Rapport's.
CREATE DATABASE mlflow OWNER rapport;
