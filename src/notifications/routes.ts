import type { Router } from '../http/route.js';
import { registerChannelRoutes } from './channel-routes.js';
import { registerPreferenceRoutes } from './preference-routes.js';

/**
 * Notifications API: people's preferences (preference-routes.ts), chat channels and their routes
 * (channel-routes.ts), delivery logs and replay. The web app's profile and admin pages call the same
 * repository functions.
 */
export function registerNotificationRoutes(router: Router, options: { baseUrl?: string } = {}) {
  registerPreferenceRoutes(router, options);
  registerChannelRoutes(router);
}
