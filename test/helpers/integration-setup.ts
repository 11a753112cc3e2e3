// Real containers: topology starts take seconds, scenarios tens of seconds.
jest.setTimeout(300_000);
