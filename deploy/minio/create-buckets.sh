#!/bin/sh
# One-shot (compose service minio-init): the registry's buckets with versioning, and an application user
# that can read and write only them. Safe to run again: every step is idempotent.
set -eu
: "${MINIO_ROOT_USER:?}" "${MINIO_ROOT_PASSWORD:?}" "${AGRORISK_STORAGE_ACCESS_KEY:?}" "${AGRORISK_STORAGE_SECRET_KEY:?}"
models="${AGRORISK_STORAGE_MODELS_BUCKET:-agrorisk-models}"
datasets="${AGRORISK_STORAGE_DATASETS_BUCKET:-agrorisk-datasets}"

mc alias set local "${MINIO_ENDPOINT:-http://minio:9000}" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
for bucket in "$models" "$datasets"; do
  mc mb --ignore-existing "local/$bucket"
  mc version enable "local/$bucket"
done

policy=/tmp/agrorisk-registry-policy.json
cat > "$policy" <<JSON
{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketVersions",
                                    "s3:GetBucketVersioning"],
     "Resource": ["arn:aws:s3:::$models", "arn:aws:s3:::$datasets"]},
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject",
                                    "s3:DeleteObjectVersion", "s3:GetObjectTagging", "s3:PutObjectTagging"],
     "Resource": ["arn:aws:s3:::$models/*", "arn:aws:s3:::$datasets/*"]}
  ]
}
JSON
mc admin policy create local agrorisk-registry "$policy"
mc admin user add local "$AGRORISK_STORAGE_ACCESS_KEY" "$AGRORISK_STORAGE_SECRET_KEY"
mc admin policy attach local agrorisk-registry --user "$AGRORISK_STORAGE_ACCESS_KEY" 2>/dev/null || true
echo "buckets ready: $models, $datasets (versioned); user $AGRORISK_STORAGE_ACCESS_KEY can use them"
