import { initServer } from '@ts-rest/express';
import { contract } from '../generated/contract.gen';
import { problems } from '../http/problem';
import { deviceTypes, findDeviceType } from './device-type-catalogue';

export function deviceTypesHandlers() {
  return initServer().router(contract.deviceTypes, {
    listDeviceTypes: async () => ({ status: 200, body: { data: deviceTypes, next_cursor: null } }),

    getDeviceType: async ({ params }) => {
      const type = findDeviceType(params.device_type);
      if (!type) throw problems.notFound('device type', params.device_type);
      return { status: 200, body: type };
    },
  });
}
