"""Deploying a user's jobs to AWS Lambda from their own repository (issue 21).

`build` makes the Lambda artifact (the installed triggerfish, its `[lambda]` extra, the
app's own requirements and jobs, and `lambda_entry.py`); `scaffold` writes a serverless.yml
and a SAM template.yaml for the app's module. The CLI exposes both (`triggerfish
build-lambda`, `triggerfish init-deploy`); nothing here is imported by a running function
except `lambda_entry.py`, which the build copies to the artifact's root.
"""
