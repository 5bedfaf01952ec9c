"""The S3 gateway: a second front end over the catalog, answering S3's protocol.

Clients address ``s3://<repository>/<ref>/<path>``: the bucket is the repository and the
first level of a key is the ref. Requests are signed with AWS Signature Version 4 or 2
using Limnos's own access keys; every answer, errors included, is S3's XML.
"""
