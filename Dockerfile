# FlowPilot image: the same image runs web, worker and beat (see docker-compose.yml).

# The designer, built once with Node; only its dist/ goes into the image.
FROM node:20-slim AS frontend
WORKDIR /frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
COPY --from=frontend /frontend/dist /app/frontend/dist
RUN useradd --create-home flowpilot && mkdir -p /app/var /var/lib/flowpilot/metrics /var/lib/flowpilot/files \
    && chown -R flowpilot /app/var /var/lib/flowpilot
USER flowpilot

EXPOSE 8000
CMD ["python", "manage.py", "serve", "--host", "0.0.0.0", "--port", "8000"]
